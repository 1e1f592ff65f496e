"""The routing core: `Router` (router.py) classifies, routes by the policy (policy.py), sends through
the upstream and accounts each request (accounting.py); cache-aware routing (cache_affinity*.py)."""
