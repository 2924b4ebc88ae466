"""The terminal app: screens and widgets built on the domain modules (nothing imports this)."""
