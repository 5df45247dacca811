"""Dispatch: visits, which unit does them, day plans, and where units can reach."""
