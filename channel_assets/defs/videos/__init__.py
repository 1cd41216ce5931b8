"""Dagster objects of the video metadata refresh: the video_metadata asset, its checks and the request job."""
