"""Data access: boto3 clients, the CallPlans and LegState stores, the Exotel client, idempotency."""
