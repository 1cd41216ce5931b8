"""The `channel-assets` command line (`main`) and the demo's main job it runs."""
