"""What each model is, accepts and costs, as data: prices (`prices.toml`, read by `pricing.py`)."""
