"""opsbackend: the operations backend for mobile home-infusion units.

The web app is built by ``opsbackend.app.create_app``; the console command is
``opsbackend`` (``opsbackend.cli``).
"""
