"""Helpers that tests and bench/ share and the wheel does not ship: a fake Twilio server and
throwaway databases. bench/ scripts put the repository root on sys.path to import them."""
