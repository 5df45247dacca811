"""The infusion itself: courses, bags, pump reports, interruptions, and the visits they call for."""
