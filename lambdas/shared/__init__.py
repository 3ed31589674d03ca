"""What every function shares: configuration, Powertools objects, the bus event envelope."""
