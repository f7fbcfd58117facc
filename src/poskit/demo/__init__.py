"""The demo world `poskit up` seeds."""
