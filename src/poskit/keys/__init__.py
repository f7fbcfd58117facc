"""Key management between the host HSM and the terminals' PIN pads: injection, LMK rotation, status."""
