"""Which sites a caller may see and change.

Every list query and every read or write of one record goes through the caller's
``Scope``: lists keep only its sites' rows, a record of another site is "not found"
(its existence is not confirmed), and a write naming a site outside it is refused.
Jobs and the command line act for every site (``Scope.everything()``).
"""

from dataclasses import dataclass

from sqlalchemy import true


@dataclass(frozen=True)
class Scope:
    role: str
    # None: every site (a global admin, a job, the command line).
    site_ids: frozenset[int] | None = None
    # A nurse token speaks for this nurse only.
    nurse_id: int | None = None

    @classmethod
    def everything(cls) -> "Scope":
        return cls(role="system")

    @property
    def is_global(self) -> bool:
        return self.site_ids is None

    def covers(self, site_id: int | None) -> bool:
        return self.site_ids is None or site_id in self.site_ids

    def where(self, site_column):
        """A SQL condition keeping rows whose ``site_column`` is one of the caller's sites."""
        if self.site_ids is None:
            return true()
        return site_column.in_(sorted(self.site_ids))
