"""Code shared by the functions: configuration, AWS and Exotel clients, the plan and leg-state stores."""
