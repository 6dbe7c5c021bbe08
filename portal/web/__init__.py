"""Web plumbing every page blueprint shares: page-or-partial, error pages, form errors,
the request's organisation and the unit of work. Blueprints import this, never each other."""
