"""Adhesion: membership applications and the registration form's extra questions."""
