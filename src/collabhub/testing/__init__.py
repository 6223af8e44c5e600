"""The shipped test kit: the sample company, simulator base, and the standard connector suite."""

from collabhub.testing.company import Company, generate_company
from collabhub.testing.simulator import Faults, Simulator, free_port

__all__ = ["Company", "Faults", "Simulator", "free_port", "generate_company"]
