"""flask-smorest's Blueprint, building each argument schema once instead of per request."""

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    def arguments(self, schema, *args, **kwargs):
        # Given a schema class, webargs builds a new instance on every request, and that
        # instance builds its nested schemas again: about a millisecond of CPU per request.
        # Schemas keep no state between loads, so one instance serves every request.
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)
