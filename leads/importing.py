"""Reading lead spreadsheets: files (CSV in Excel's encodings and separators, XLSX/XLS/ODS
through calamine), headers matched to lead fields by alias, and values as people write
them (money, dates, statuses). No database access here: leads.services.lead_import
writes."""

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from boztell.errors import BoztellError
from leads import models
from leads.models import ContactStatus, LeadAttribute, LeadStatus

ATTR_TYPES = tuple(LeadAttribute.Type.values)


class UnreadableFile(BoztellError):
    """The file cannot be read as a spreadsheet; nothing was imported."""

    code = "unreadable_file"
    status = 400


class InvalidMapping(BoztellError):
    code = "invalid_mapping"
    status = 400


class ValueProblem(ValueError):
    """A cell that cannot be read as its column's type; the message says why."""


# --- headers -----------------------------------------------------------------------------


def header_key(text) -> str:
    """A header as a key: accents dropped, lower case, runs of other characters as '_'."""
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:64]


# A column maps to one of these, to a typed attribute, or is ignored.
LEAD_FIELDS = tuple(name for name in models.LEAD_FIELDS if name != "attributes")
IGNORE = "ignore"

_FIELD_ALIASES = {
    "name": "nama name nama_lengkap nama_nasabah nama_debitur nama_customer full_name "
    "customer_name customer debitur nasabah",
    "phone": "no_hp nohp no_handphone nomor_hp nomor_handphone hp handphone telepon telp "
    "no_telp no_telepon nomor_telepon phone phone_number mobile mobile_phone whatsapp wa "
    "no_wa nomor_wa nomor_whatsapp msisdn",
    "outstanding": "sisa_pinjaman outstanding outstanding_amount sisa_hutang sisa_utang "
    "sisa_tagihan saldo_pinjaman total_outstanding os sisa_pokok",
    "loan_type": "jenis_pinjaman loan_type tipe_pinjaman jenis_kredit produk product "
    "jenis_produk loan_product",
    "leads_status": "status leads_status lead_status status_lead status_leads",
    "contact_status": "contact_status status_kontak status_hubungi status_contact",
    "do_not_contact": "do_not_contact dnc jangan_hubungi tidak_boleh_dihubungi opt_out",
    # The report's own columns, when a fixed report is imported again.
    IGNORE: "error line baris no nomor",
}
FIELD_ALIASES = {alias: f for f, aliases in _FIELD_ALIASES.items() for alias in aliases.split()}

# Attribute columns that mean the same thing under different names share one key.
_ATTRIBUTE_ALIASES = {
    ("due_date", "date"): "due_date jatuh_tempo tgl_jatuh_tempo tanggal_jatuh_tempo "
    "tgl_jt jt tanggal_jt due",
    ("installment", "money"): "installment instalment angsuran cicilan angsuran_per_bulan "
    "cicilan_per_bulan monthly_installment",
    ("dpd", "number"): "dpd days_past_due hari_keterlambatan hari_telat overdue_days",
    ("branch", "text"): "branch cabang kantor_cabang",
}
ATTRIBUTE_ALIASES = {
    alias: key_type for key_type, aliases in _ATTRIBUTE_ALIASES.items() for alias in aliases.split()
}
_MONEY_WORDS = re.compile(
    r"(^|_)(rp|idr|amount|jumlah|nominal|angsuran|cicilan|tagihan|denda|bayar|pembayaran|"
    r"pinjaman|plafon|limit|saldo|harga|biaya|fee|installment|payment)(_|$)"
)


@dataclass
class Column:
    """What one spreadsheet column becomes: a lead field, a typed attribute, or nothing."""

    index: int
    header: str
    target: str  # a LEAD_FIELDS name, "attribute" or "ignore"
    key: str = ""  # the attribute's key
    type: str = ""  # the attribute's type

    def as_target(self) -> str:
        """The mapping's wire form: a field name, "ignore", or "attr:<key>:<type>"."""
        if self.target == "attribute":
            return f"attr:{self.key}:{self.type}"
        return self.target

    def as_dict(self) -> dict:
        return {
            "column": self.index + 1,
            "header": self.header,
            "target": self.as_target(),
            "field": self.target,
            "key": self.key or None,
            "type": self.type or None,
        }


def parse_target(text: str, *, header: str) -> tuple[str, str, str]:
    """'name' | 'ignore' | 'attr' | 'attr:<type>' | 'attr:<key>:<type>' -> (target, key, type)."""
    text = (text or "").strip()
    if text in LEAD_FIELDS or text == IGNORE:
        return text, "", ""
    if text == "attr" or text.startswith("attr:"):
        parts = text.split(":")[1:]
        key, type_ = "", ""
        if len(parts) == 1:
            type_ = parts[0]
        elif len(parts) == 2:
            key, type_ = header_key(parts[0]), parts[1]
        elif parts:
            raise InvalidMapping(f"'{text}' is not a column target.")
        if type_ and type_ not in ATTR_TYPES:
            raise InvalidMapping(
                f"'{type_}' is not an attribute type: use one of {', '.join(ATTR_TYPES)}."
            )
        return "attribute", key or header_key(header) or "column", type_
    raise InvalidMapping(
        f"'{text}' is not a column target: use one of {', '.join(LEAD_FIELDS)}, "
        "ignore, or attr:<key>:<date|money|number|text>."
    )


# --- values ------------------------------------------------------------------------------

_CURRENCY = re.compile(r"(?i)^(rp\.?|idr)|(rp\.?|idr)$")
EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_decimal(value) -> Decimal:
    """A number as people write it in Indonesia or in English: `Rp 12.500.000`,
    `12500000`, `12.500.000,00`, `12,500,000`, `1.250.000,5`, `-Rp 5.000`, `(5.000)`."""
    if isinstance(value, bool):
        raise ValueProblem(f"'{value}' is not an amount.")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = str(value).strip().replace("\u00a0", " ")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    if text.startswith("-"):
        negative, text = True, text[1:].strip()
    text = _CURRENCY.sub("", text).strip()
    if text.startswith("-"):
        negative, text = True, text[1:].strip()
    text = text.replace(" ", "").replace("'", "")
    if text.endswith(",-") or text.endswith(".-"):
        text = text[:-2]
    if not text or not re.fullmatch(r"[0-9.,]+", text):
        raise ValueProblem(f"'{value}' is not an amount.")
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal_sep = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        if text.count(decimal_sep) > 1:
            raise ValueProblem(f"'{value}' is not an amount.")
        text = text.replace(thousands, "").replace(decimal_sep, ".")
    elif dots or commas:
        sep = "." if dots else ","
        groups = text.split(sep)
        # Several separators, or exactly three digits after one: thousands (12.500, 12,500).
        if len(groups) > 2 or len(groups[-1]) == 3:
            if not all(len(g) == 3 for g in groups[1:]) or not groups[0]:
                raise ValueProblem(f"'{value}' is not an amount.")
            text = "".join(groups)
        else:
            text = text.replace(sep, ".")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueProblem(f"'{value}' is not an amount.") from exc
    return -number if negative else number


def parse_money(value) -> Decimal:
    amount = parse_decimal(value)
    if abs(amount) >= Decimal(10) ** 16:
        raise ValueProblem(f"'{value}' is too large for an amount in IDR.")
    return amount.quantize(Decimal("0.01"))


_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_YMD = re.compile(r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})$")
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            "jan januari january",
            "feb februari february peb",
            "mar maret march",
            "apr april",
            "mei may",
            "jun juni june",
            "jul juli july",
            "agu agt agustus aug august",
            "sep september sept",
            "okt oktober oct october",
            "nov november nop nopember",
            "des desember dec december",
        ]
    )
    for m in names.split()
}
_DAY_MONTH_NAME = re.compile(r"^(\d{1,2})[\s\-/]+([a-z]+)[\s\-/,]+(\d{4})$")


def parse_date(value) -> dt.date:
    """`dd/mm/yyyy` (also with '-' or '.'), `yyyy-mm-dd`, `5 Jan 2027` / `5 Januari 2027`,
    a spreadsheet date cell, or an Excel serial number (45678)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueProblem(f"'{value}' is not a date.")
    if isinstance(value, int | float):
        return _excel_serial(value)
    text = str(value).strip()
    text = text.split("T")[0].split(" 00:00")[0].strip()
    try:
        if match := _YMD.match(text):
            y, m, d = (int(g) for g in match.groups())
            return dt.date(y, m, d)
        if match := _DMY.match(text):
            d, m, y = (int(g) for g in match.groups())
            if y < 100:
                y += 2000 if y < 70 else 1900
            return dt.date(y, m, d)
        if match := _DAY_MONTH_NAME.match(text.lower()):
            d, name, y = match.groups()
            if name.rstrip(".") in _MONTHS:
                return dt.date(int(y), _MONTHS[name.rstrip(".")], int(d))
    except ValueError as exc:
        raise ValueProblem(f"'{value}' is not a date: {exc}.") from exc
    if re.fullmatch(r"\d{4,5}(\.0+)?", text):
        return _excel_serial(float(text))
    raise ValueProblem(f"'{value}' is not a date: use dd/mm/yyyy or yyyy-mm-dd.")


def _excel_serial(number: float) -> dt.date:
    # Serials from 1 Jan 1955 to 31 Dec 2149: a DPD or an amount is not taken for a date.
    if not 20090 <= number <= 91310:
        raise ValueProblem(f"'{number}' is not a date.")
    return EXCEL_EPOCH + dt.timedelta(days=int(number))


def parse_number(value):
    number = parse_decimal(value)
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def parse_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


_TRUE = {"1", "y", "ya", "yes", "true", "benar", "iya", "x", "dnc"}
_FALSE = {"0", "n", "no", "tidak", "false", "salah", "t", "-"}


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = parse_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueProblem(f"'{value}' is not yes/no.")


_STATUS_ALIASES = {
    "leads_status": {
        "baru": "new",
        "dingin": "cold",
        "hangat": "warm",
        "panas": "hot",
        "penagihan": "collection",
        "tagih": "collection",
        "lunas": "paid",
        "hilang": "lost",
        "gagal": "lost",
    },
    "contact_status": {
        "belum_dihubungi": "uncontacted",
        "sudah_dihubungi": "contacted",
        "dihubungi": "contacted",
        "janji_bayar": "promise_to_pay",
        "ptp": "promise_to_pay",
        "tidak_terhubung": "unreachable",
        "tidak_dapat_dihubungi": "unreachable",
        "jangan_hubungi": "do_not_contact",
        "dnc": "do_not_contact",
    },
}
_STATUS_CHOICES = {"leads_status": LeadStatus, "contact_status": ContactStatus}


def parse_status(value, *, field: str) -> str:
    """A status matched to its choice by value or label, case- and accent-insensitively
    (`Promise to pay`, `PROMISE_TO_PAY`, `janji bayar`)."""
    key = header_key(value)
    choices = _STATUS_CHOICES[field]
    for choice in choices:
        if key in (choice.value, header_key(choice.label)):
            return choice.value
    if key in _STATUS_ALIASES[field]:
        return _STATUS_ALIASES[field][key]
    raise ValueProblem(f"'{value}' is not a {field}: use one of {', '.join(choices.values)}.")


def attribute_value(value, type_: str):
    """A cell as the JSON value stored for an attribute of that type."""
    if type_ == "date":
        return parse_date(value).isoformat()
    if type_ == "money":
        amount = parse_money(value)
        return int(amount) if amount == amount.to_integral_value() else float(amount)
    if type_ == "number":
        return parse_number(value)
    return parse_text(value)[:1000]


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def infer_type(header: str, samples: list) -> str:
    """An attribute's type from its header and its first values."""
    values = [v for v in samples if not is_blank(v)]
    if not values:
        return "text"
    key = header_key(header)

    def all_parse(parser) -> bool:
        try:
            for v in values:
                parser(v)
        except ValueProblem:
            return False
        return True

    textual = [v for v in values if isinstance(v, str)]
    looks_like_date = any(isinstance(v, dt.date) for v in values) or any(
        _DMY.match(v.strip()) or _YMD.match(v.strip()) for v in textual
    )
    if looks_like_date and all_parse(parse_date):
        return "date"
    if any(_CURRENCY.search(v.strip()) for v in textual) and all_parse(parse_money):
        return "money"
    if all_parse(parse_decimal):
        return "money" if _MONEY_WORDS.search(key) else "number"
    return "text"


# --- files -------------------------------------------------------------------------------

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"


def read_table(data: bytes, *, filename: str = "", sheet: str | None = None) -> "Spreadsheet":
    """The spreadsheet in `data`: XLSX/XLS/ODS by content, else CSV/TSV text."""
    if not data:
        raise UnreadableFile("The file is empty.")
    if data.startswith((_ZIP, _OLE)) or filename.lower().endswith((".xlsx", ".xls", ".ods")):
        return _WorkbookSheet(data, sheet=sheet)
    if sheet:
        raise UnreadableFile("A CSV file has no sheets: leave the sheet name out.")
    return _CsvSheet(data)


class Spreadsheet:
    """Rows of one sheet; iterate as many times as needed (the importer reads twice)."""

    source_format = ""
    sheet = ""
    sheets: list[str] = []

    def raw_rows(self) -> Iterator[list]:
        raise NotImplementedError

    def total_rows(self) -> int | None:
        return None

    def rows(self) -> Iterator[tuple[int, list]]:
        """Non-blank rows with their 1-based line numbers (as the spreadsheet shows them)."""
        for index, row in enumerate(self.raw_rows()):
            if any(not is_blank(cell) for cell in row):
                yield index + 1, row


class _CsvSheet(Spreadsheet):
    source_format = "csv"

    def __init__(self, data: bytes):
        self.text = _decode(data)
        sample = self.text[:16384]
        try:
            self.dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            self.dialect = csv.excel
            first = sample.splitlines()[0] if sample else ""
            counts = {d: first.count(d) for d in ",;\t|"}
            best = max(counts, key=counts.get)
            if counts[best]:

                class _Dialect(csv.excel):
                    delimiter = best

                self.dialect = _Dialect
        if "\x00" in sample:
            raise UnreadableFile("This is not a text (CSV) file or a spreadsheet.")

    def raw_rows(self):
        try:
            yield from csv.reader(io.StringIO(self.text, newline=""), self.dialect)
        except csv.Error as exc:
            raise UnreadableFile(f"The CSV file cannot be read: {exc}.") from exc

    def total_rows(self):
        return None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else
    Windows-1252 (Excel's usual "CSV" on Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnreadableFile("The file says UTF-16 but is not.") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _WorkbookSheet(Spreadsheet):
    source_format = "xlsx"

    def __init__(self, data: bytes, *, sheet: str | None):
        from python_calamine import CalamineWorkbook

        try:
            self.workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as exc:  # calamine raises its own error types for broken files
            raise UnreadableFile(f"The spreadsheet cannot be opened: {exc}.") from exc
        self.sheets = list(self.workbook.sheet_names)
        if not self.sheets:
            raise UnreadableFile("The workbook has no sheets.")
        if sheet:
            wanted = {header_key(name): name for name in self.sheets}
            name = sheet if sheet in self.sheets else wanted.get(header_key(sheet))
            if name is None:
                raise UnreadableFile(
                    f"There is no sheet '{sheet}'; the sheets are: {', '.join(self.sheets)}."
                )
            self.sheet = name
        else:
            self.sheet = self.sheets[0]
        try:
            self._sheet = self.workbook.get_sheet_by_name(self.sheet)
        except Exception as exc:
            raise UnreadableFile(f"The sheet '{self.sheet}' cannot be read: {exc}.") from exc

    def raw_rows(self):
        # Rows before the sheet's first used row are not in calamine's range: keep the
        # line numbers the supervisor sees in Excel.
        start = self._sheet.start[0] if self._sheet.start else 0
        for _ in range(start):
            yield []
        yield from self._sheet.iter_rows()

    def total_rows(self):
        return self._sheet.total_height


def find_header(sheet: Spreadsheet) -> tuple[int, list[str]]:
    """The header row: the first of the first ten non-blank rows that names a phone
    column (a title row above the table is passed over), else the first non-blank row."""
    first = None
    for seen, (line, row) in enumerate(sheet.rows()):
        headers = [parse_text(c) if not is_blank(c) else "" for c in row]
        if first is None:
            first = (line, headers)
        if any(FIELD_ALIASES.get(header_key(h)) == "phone" for h in headers):
            return line, headers
        if seen >= 9:
            break
    if first is None:
        raise UnreadableFile("The file has no rows.")
    return first


def default_columns(headers: list[str], known: dict[str, str]) -> list[Column]:
    """Each header's target by alias; other columns become attributes (`known` maps the
    keys of existing LeadAttribute definitions to their types)."""
    columns, taken = [], set()
    for index, header in enumerate(headers):
        key = header_key(header)
        target = FIELD_ALIASES.get(key)
        if not header.strip():
            columns.append(Column(index, header, IGNORE))
        elif target and (target == IGNORE or target not in taken):
            taken.add(target)
            columns.append(Column(index, header, target))
        else:
            attr_key, attr_type = ATTRIBUTE_ALIASES.get(key, (key, ""))
            columns.append(
                Column(index, header, "attribute", attr_key, known.get(attr_key, attr_type))
            )
    return columns


def apply_mapping(columns: list[Column], mapping: dict[str, str] | None) -> list[Column]:
    """Override targets by header (exact, or by header key) or by `#<column number>`."""
    if not mapping:
        return columns
    by_header = {}
    for c in columns:
        by_header.setdefault(c.header, c)
        by_header.setdefault(header_key(c.header), c)
        by_header.setdefault(f"#{c.index + 1}", c)
    for name, text in mapping.items():
        column = by_header.get(name) or by_header.get(header_key(name))
        if column is None:
            raise InvalidMapping(f"The mapping names a column '{name}' that the file lacks.")
        column.target, column.key, column.type = parse_target(text, header=column.header)
    seen = {}
    for c in columns:
        if c.target in LEAD_FIELDS:
            if c.target in seen:
                raise InvalidMapping(
                    f"Columns '{seen[c.target]}' and '{c.header}' both map to {c.target}."
                )
            seen[c.target] = c.header
    return columns
