"""manage.py import_leads FILE: import a CSV/XLSX of leads, with a progress bar and a report."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from boztell.errors import BoztellError


class Command(BaseCommand):
    help = (
        "Import leads from a CSV or XLSX file (one lead per phone; existing leads updated). "
        "Columns are matched by header (nama/name, no_hp/phone, sisa_pinjaman/outstanding, ...); "
        "other columns become typed lead attributes."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV, XLSX, XLS or ODS file")
        parser.add_argument("--dry-run", action="store_true", help="report, change nothing")
        parser.add_argument("--sheet", help="sheet name (default: the first sheet)")
        parser.add_argument(
            "--overwrite",
            choices=["all", "empty", "none"],
            default="all",
            help="what an existing lead takes from the file: every field the file fills "
            "(all), only its empty fields (empty), nothing (none)",
        )
        parser.add_argument(
            "--duplicates",
            choices=["first", "last"],
            default="first",
            help="which of several rows with one phone is imported",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=TARGET",
            help="map a column: a lead field (name, phone, outstanding, loan_type, "
            "leads_status, contact_status, do_not_contact), ignore, or "
            "attr:<key>:<date|money|number|text>; repeatable",
        )
        parser.add_argument("--report", help="write the skipped rows to this CSV file")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        from tqdm import tqdm

        from leads.selectors import lead_import_report, lead_import_report_csv
        from rooms.services import lead_import

        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        mapping = {}
        for item in options["map"]:
            header, sep, target = item.rpartition("=")
            if not sep or not header:
                raise CommandError(f"--map takes HEADER=TARGET, not '{item}'.")
            mapping[header] = target
        bar = None

        def progress(done, total):
            nonlocal bar
            if options["no_progress"]:
                return
            if bar is None:
                bar = tqdm(total=total, unit="row", desc="import", file=self.stderr._out)
            bar.update(done - bar.n)

        try:
            record = lead_import(
                data=path.read_bytes(),
                filename=path.name,
                dry_run=options["dry_run"],
                sheet=options["sheet"],
                overwrite=options["overwrite"],
                duplicates=options["duplicates"],
                mapping=mapping or None,
                progress=progress,
            )
        except BoztellError as exc:
            raise CommandError(f"{exc.code}: {exc.message} Nothing was imported.") from exc
        finally:
            if bar is not None:
                bar.close()
        report = lead_import_report(record)
        counts = report["counts"]
        self.stdout.write(
            ("Dry run (nothing changed): " if record.dry_run else "")
            + f"{report['rows_read']} rows read: {counts['created']} created, "
            f"{counts['updated']} updated, {counts['unchanged']} unchanged, "
            f"{counts['skipped']} skipped."
        )
        for column in report["columns"]:
            self.stdout.write(f"  column {column['header']!r} -> {column['target']}")
        for issue in record.issues[:50]:
            self.stdout.write(f"  line {issue['line']}, {issue['column']}: {issue['reason']}")
        if len(record.issues) > 50:
            self.stdout.write(f"  ... and {len(record.issues) - 50} more skipped rows")
        if options["report"]:
            with open(options["report"], "w", encoding="utf-8", newline="") as out:
                for chunk in lead_import_report_csv(record):
                    out.write(chunk)
            self.stdout.write(f"Report written to {options['report']}")
        if record.status == record.Status.FAILED:
            raise CommandError(record.error)
