"""HTTP mechanics: the session and its one retry loop, the retry decision, waits, the key's
budget, the one pagination loop, batching and API paths. Nothing here knows PostHog's
resources."""
