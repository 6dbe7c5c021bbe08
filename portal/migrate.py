"""Running Alembic from code, against the app's own engine."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from portal.config import ROOT


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            _upgrade_sqlite(connection, config, revision)
        else:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)


def _upgrade_sqlite(connection: Connection, config: Config, revision: str) -> None:
    """SQLite needs two things the driver doesn't do by itself:

    - the whole upgrade in one real transaction (pysqlite commits before DDL on its own,
      which would leave a half-migrated database behind a failure), so we say BEGIN;
    - foreign keys off while tables are rebuilt (batch mode copies and drops a table, which
      fails once other rows point at it), checked before committing.
    """
    raw = connection.execution_options(isolation_level="AUTOCOMMIT")
    raw.exec_driver_sql("PRAGMA foreign_keys=OFF")
    raw.exec_driver_sql("BEGIN")
    try:
        config.attributes["connection"] = raw
        command.upgrade(config, revision)
        problems = raw.execute(text("PRAGMA foreign_key_check")).all()
        if problems:
            raise RuntimeError(f"the migration left broken foreign keys: {problems[:5]}")
    except BaseException:
        raw.exec_driver_sql("ROLLBACK")
        raise
    else:
        raw.exec_driver_sql("COMMIT")
    finally:
        raw.exec_driver_sql("PRAGMA foreign_keys=ON")
