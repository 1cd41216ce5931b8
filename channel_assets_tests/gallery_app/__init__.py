"""A minimal gallery app (seed 000's models) whose schema Django's own `migrate` makes, for the adoption tests."""
