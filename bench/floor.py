"""The floor for bench/pages.py: a bare Flask app with one route rendering a ~2 KB template.

    gunicorn -w 2 bench.floor:app

Nothing of the portal (no database, session, CSRF or login): what Flask, Jinja and gunicorn
cost by themselves on this machine, so the portal's pages can be given as a ratio to it.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, render_template

app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))

# Enough rows for about 2 KB of HTML, like a short list page.
ROWS = [(f"Person {n}", f"person{n}@example.org", "Pending") for n in range(12)]


@app.get("/")
def index() -> str:
    return render_template("floor.html", title="Floor", rows=ROWS)
