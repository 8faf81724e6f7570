"""Accounts (issue 8 item 5-6): the shared cache table, and DRF's plain-text tokens gone.

- The throttles count in the default cache; without REDIS_URL that is the database cache, whose
  table this creates (`createcachetable`, a no-op for other backends and when it exists), so a
  deployment cannot forget it: `migrate` is enough.
- Tokens moved to django-rest-knox (hashed). DRF's `authtoken_token` table held every token in
  plain text: it is dropped, so existing tokens stop working and people log in again.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("members_app", "0005_creditlot_closed_at")]

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=False),
        migrations.RunSQL(
            [
                "DROP TABLE IF EXISTS authtoken_token",
                "DELETE FROM django_migrations WHERE app = 'authtoken'",
            ],
            migrations.RunSQL.noop,
        ),
    ]
