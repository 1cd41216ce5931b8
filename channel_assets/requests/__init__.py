"""The gallery app's requests to the pipeline (issue 19): taking them in (validation and limits), serving them
in a run (through the refresh and cleanup domains), dispatching them to runs, and the app's status."""
