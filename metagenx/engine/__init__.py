"""The GenX adapter: load, configure, fit, stop, save."""
