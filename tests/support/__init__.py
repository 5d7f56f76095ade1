"""Helpers the tests import: paths, data loaders, row builders. conftest.py files hold only
fixtures and hooks, so nothing imports a conftest module."""
