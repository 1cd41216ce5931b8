# Unmanaged models only (managed = False): Django records them and never creates, alters or drops the
# tables; `channel-assets db upgrade` owns them.

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="PipelineRequest",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("kind", models.TextField()),
                ("channel_ids", django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), null=True, size=None)),
                ("requested_by", models.TextField()),
                ("user_id", models.BigIntegerField(null=True)),
                ("reason", models.TextField()),
                ("status", models.TextField()),
                ("status_reason", models.TextField(null=True)),
                ("run_id", models.TextField(null=True)),
                ("outcome", models.JSONField(null=True)),
                ("created_at", models.DateTimeField()),
                ("started_at", models.DateTimeField(null=True)),
                ("finished_at", models.DateTimeField(null=True)),
            ],
            options={
                "verbose_name": "pipeline request",
                "db_table": "channel_pipeline_requests",
                "ordering": ["-id"],
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="UpdateLog",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("channel_uuid", models.UUIDField(null=True)),
                ("channel_id", models.CharField(max_length=64, null=True)),
                ("update_type", models.CharField(max_length=20)),
                ("status", models.CharField(max_length=10)),
                ("error_message", models.TextField(null=True)),
                ("error_type", models.CharField(max_length=20, null=True)),
                ("changes_made", models.JSONField(null=True)),
                ("api_quota_used", models.IntegerField()),
                ("processing_time_ms", models.IntegerField(null=True)),
                ("run_id", models.CharField(max_length=64, null=True)),
                ("actor", models.CharField(max_length=100, null=True)),
                ("created_at", models.DateTimeField()),
            ],
            options={
                "verbose_name": "channel update log",
                "db_table": "channel_update_logs",
                "ordering": ["-created_at", "-id"],
                "managed": False,
            },
        ),
    ]
