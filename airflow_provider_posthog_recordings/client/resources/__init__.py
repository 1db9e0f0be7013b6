"""PostHog's resources and their quirks: recordings, deletion with exact accounting,
playlists, sharing, and bulk endpoints tried once then given up for the run."""
