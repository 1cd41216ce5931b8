"""Who answers for every asset of the code location (shown in the UI's catalog)."""

OWNERS = ["team:gallery-data"]
