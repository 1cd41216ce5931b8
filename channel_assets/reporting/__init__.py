"""Reports and metadata rendering shared by the refresh and cleanup domains."""
