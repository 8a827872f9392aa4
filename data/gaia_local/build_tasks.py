"""Generate the local GAIA-style evaluation suite: data files, a text corpus, a PDF, and tasks.jsonl.

Why generated: every expected answer is computed here directly from the data (Python arithmetic, not the
tools), so the scheduler's result is checked against an independent computation; regenerating gives the
same bytes (fixed seed). Run: `.venv/bin/python data/gaia_local/build_tasks.py`.
Levels (GAIA-style): 1 = one or two tools; 2 = three to six steps; 3 = long multi-tool chains with fan-out.
"""

from __future__ import annotations

import csv
import json
import random
import zlib
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
RNG = random.Random(7)

REGIONS = ["North", "South", "East", "West", "Central"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
PRODUCTS = ["Widget", "Gadget", "Doohickey"]
DEPTS = ["Engineering", "Sales", "Support", "Research"]
ENTITIES = [
    ("Varen Observatory", "Halden"), ("Corvin Bridge", "Ostrava Nova"), ("Miravel Library", "Tessin"),
    ("Orlan Lighthouse", "Kestrel Bay"), ("Sable Tower", "Durnholm"), ("Quillon Dam", "Ferrow"),
    ("Ember Hall", "Lanmark"), ("Halcyon Archive", "Brisk"), ("Tarn Aqueduct", "Velmont"), ("Wexford Mill", "Ashgrove"),
]


def plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def make_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF (Helvetica text) written by hand: no PDF-writing dependency needed."""
    text = "BT /F1 12 Tf 72 720 Td 16 TL " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
    stream = zlib.compress(text.encode("latin-1"))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def build_data() -> dict:
    FILES.mkdir(parents=True, exist_ok=True)
    (FILES / "corpus").mkdir(exist_ok=True)
    sales = []
    for region in REGIONS:
        for month in MONTHS:
            for product in PRODUCTS:
                sales.append([region, month, product, RNG.randint(20, 400), f"{RNG.randint(150, 2500) / 100:.2f}"])
    write_csv(FILES / "sales.csv", ["region", "month", "product", "units", "unit_price"], sales)

    first = ["Ada", "Bram", "Cleo", "Dov", "Esme", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kai", "Lena", "Milo", "Nia",
             "Otto", "Pia", "Quin", "Rosa", "Sven", "Tova", "Uma", "Vik", "Wren", "Xan", "Yara", "Zeb", "Arlo", "Bea",
             "Cyd", "Dara", "Eli", "Fay", "Gus", "Hale", "Ivo", "Jade", "Kit", "Lux", "Moe", "Nell"]
    employees = [[name, DEPTS[i % 4], RNG.randrange(42_000, 160_000, 500), RNG.randint(2005, 2024)] for i, name in enumerate(first)]
    write_csv(FILES / "employees.csv", ["name", "dept", "salary", "start_year"], employees)

    stations = []
    for i, (entity, city) in enumerate(ENTITIES):
        stations.append([f"ST-{i + 1:02d}", city, REGIONS[i % 5], RNG.randint(5, 2400), f"{RNG.randint(-50, 260) / 10:.1f}"])
    write_csv(FILES / "stations.csv", ["station", "city", "region", "elevation_m", "avg_temp_c"], stations)

    facts = {}
    for i, (entity, city) in enumerate(ENTITIES):
        year, height, staff = RNG.randint(1780, 1990), RNG.randint(12, 420), RNG.randint(4, 900)
        facts[entity] = {"city": city, "year": year, "height": height, "staff": staff}
        slug = entity.lower().replace(" ", "_")
        kind = entity.split()[-1].lower()
        (FILES / "corpus" / f"{slug}.md").write_text(
            f"# {entity}\n\n"
            f"The {entity} is a {kind} in {city}. The {entity} was founded in {year} by a local guild.\n\n"
            f"Today the {entity} stands {height} metres tall and the {entity} employs {staff} people.\n\n"
            f"Visitors to {city} often combine a trip with the regional market, which is unrelated to the {kind}.\n",
            encoding="utf-8",
        )
    budget, projects, year = 4_875_300, 37, 2025
    (FILES / "report.pdf").write_bytes(make_pdf([
        "Annual Infrastructure Report", f"Reporting year: {year}", f"Total budget: {budget} credits",
        f"Active projects: {projects}", "Prepared by the Regional Works Office.",
    ]))
    return {"sales": sales, "employees": employees, "stations": stations, "facts": facts,
            "report": {"budget": budget, "projects": projects, "year": year}}


# ---------------------------------------------------------------------------------------------- plan helpers
def agg(cid: str, path: str, column: str, op: str = "sum", where: tuple[str, str] | None = None) -> dict:
    args = {"path": path, "column": column, "op": op}
    if where:
        args.update(where_column=where[0], where_value=where[1])
    return {"id": cid, "tool": "csv_aggregate", "args": args}


def search(cid: str, query: str) -> dict:
    return {"id": cid, "tool": "search_corpus", "args": {"query": query, "k": 3}}


def extract(cid: str, source: str, pattern: str) -> dict:
    """Python that finds `pattern` in a text result, or in any passage of a search result's hits."""
    code = (f"import re\nsource = {{{{{source}|json}}}}\n"
            "text = source if isinstance(source, str) else ' '.join(h['passage'] for h in source)\n"
            f"print(re.search({pattern!r}, text).group(1))")
    return {"id": cid, "tool": "run_python", "args": {"code": code}}


def calc(cid: str, expression: str) -> dict:
    return {"id": cid, "tool": "calculate", "args": {"expression": expression}}


def page(cid: str, title: str, body: str) -> dict:
    return {"id": cid, "tool": "build_page", "args": {"title": title, "sections": [{"heading": "Result", "body": body}]}}


def step(thought: str, *actions: dict, fallback: dict | None = None) -> dict:
    out: dict = {"thought": thought, "actions": list(actions)}
    if fallback:
        out["fallback"] = fallback
    return out


def final(answer_template: str) -> dict:
    return {"thought": "answer", "final_answer": answer_template}


def build_tasks(d: dict) -> list[dict]:
    sales, emp, stations, facts, report = d["sales"], d["employees"], d["stations"], d["facts"], d["report"]
    tasks: list[dict] = []

    def add(level: int, question: str, answer: object, plan: list[dict]) -> None:
        parallel = any(len(s.get("actions", [])) > 1 for s in plan)
        tasks.append({"id": f"L{level}-{sum(t['level'] == level for t in tasks) + 1:02d}", "level": level, "question": question,
                      "answer": str(answer), "parallelisable": parallel, "plan": plan})

    units = lambda **kw: sum(r[3] for r in sales if all(r[["region", "month", "product"].index(k)] == v for k, v in kw.items()))
    salaries = lambda dept: [r[2] for r in emp if r[1] == dept]
    entities = list(facts)

    # ----- level 1: one or two tools
    for region in REGIONS:
        add(1, f"How many units were sold in total in the {region} region (sales.csv)?", units(region=region),
            [step("one aggregate", agg("a1", "sales.csv", "units", where=("region", region))), final("{{a1.value}}")])
    for dept in DEPTS:
        add(1, f"What is the highest salary in the {dept} department (employees.csv)?", max(salaries(dept)),
            [step("max of a column", agg("a1", "employees.csv", "salary", "max", ("dept", dept))), final("{{a1.value}}")])
    for entity in entities[:5]:
        add(1, f"In what year was the {entity} founded?", facts[entity]["year"],
            [step("find the document", search("s1", f"{entity} founded")),
             step("extract the year", extract("x1", "s1.hits", r"founded in (\d{4})")), final("{{x1.stdout}}")])
    for st in stations[:4]:
        add(1, f"What is the elevation in metres of weather station {st[0]} (stations.csv)?", st[3],
            [step("lookup", {"id": "l1", "tool": "csv_lookup", "args": {"path": "stations.csv", "key_column": "station", "key": st[0], "value_column": "elevation_m"}}),
             final("{{l1.value}}")])

    # ----- level 2: three to six steps
    pairs = [("North", "South"), ("East", "West"), ("Central", "North"), ("South", "East"), ("West", "Central")]
    for i, (r1, r2) in enumerate(pairs):
        fb = None
        first = agg("a1", "sales.csv", "units", where=("region", r1))
        if i < 2:  # the planner first guesses a wrong file name and must replan
            first = agg("a1", "sales_2023.csv", "units", where=("region", r1))
            fb = {"a1": [agg("a1b", "sales.csv", "units", where=("region", r1))]}
        ref = "a1b" if fb else "a1"
        add(2, f"How many more units did the {r1} region sell than the {r2} region (negative if fewer)?", units(region=r1) - units(region=r2),
            [step("both totals in parallel", first, agg("a2", "sales.csv", "units", where=("region", r2)), fallback=fb),
             step("difference", calc("c1", f"{{{{{ref}.value}}}} - {{{{a2.value}}}}")), final("{{c1.value}}")])
    for e1, e2 in [(entities[0], entities[1]), (entities[2], entities[3]), (entities[4], entities[5]), (entities[6], entities[7]), (entities[8], entities[9])]:
        add(2, f"How many years after the {e1} was the {e2} founded (negative if before)?", facts[e2]["year"] - facts[e1]["year"],
            [step("search both", search("s1", f"{e1} founded"), search("s2", f"{e2} founded")),
             step("extract both years", extract("x1", "s1.hits", r"founded in (\d{4})"), extract("x2", "s2.hits", r"founded in (\d{4})")),
             step("difference", calc("c1", "{{x2.stdout}} - {{x1.stdout}}")), final("{{c1.value}}")])
    for d1, d2 in [("Engineering", "Sales"), ("Support", "Research"), ("Engineering", "Research"), ("Sales", "Support")]:
        both = salaries(d1) + salaries(d2)
        avg = (Decimal(sum(both)) / len(both)).quantize(Decimal("0.01"))
        add(2, f"What is the average salary over the {d1} and {d2} departments together, rounded to 2 decimals?", plain(avg) if avg != avg.to_integral() else str(int(avg)),
            [step("sums and counts in parallel", agg("a1", "employees.csv", "salary", "sum", ("dept", d1)), agg("a2", "employees.csv", "salary", "sum", ("dept", d2)),
                  agg("a3", "employees.csv", "salary", "count", ("dept", d1)), agg("a4", "employees.csv", "salary", "count", ("dept", d2))),
             step("average", calc("c1", "round(({{a1.value}} + {{a2.value}}) / ({{a3.value}} + {{a4.value}}), 2)")), final("{{c1.value}}")])
    add(2, "According to report.pdf, what is the total budget per active project, rounded down to a whole credit?", report["budget"] // report["projects"],
        [step("read the report", {"id": "p1", "tool": "parse_document", "args": {"path": "report.pdf"}}),
         step("extract the figures", extract("x1", "p1.text", r"Total budget: (\d+)"), extract("x2", "p1.text", r"Active projects: (\d+)")),
         step("divide", calc("c1", "floor({{x1.stdout}} / {{x2.stdout}})")), final("{{c1.value}}")])
    add(2, "According to report.pdf, how many years before the reporting year was the Varen Observatory founded?", report["year"] - facts["Varen Observatory"]["year"],
        [step("report and search in parallel", {"id": "p1", "tool": "parse_document", "args": {"path": "report.pdf"}}, search("s1", "Varen Observatory founded")),
         step("extract", extract("x1", "p1.text", r"Reporting year: (\d+)"), extract("x2", "s1.hits", r"founded in (\d{4})")),
         step("difference", calc("c1", "{{x1.stdout}} - {{x2.stdout}}")), final("{{c1.value}}")])
    add(2, "How many active projects does report.pdf list, times the number of employees in Support?", report["projects"] * len(salaries("Support")),
        [step("read and count", {"id": "p1", "tool": "parse_document", "args": {"path": "report.pdf"}}, agg("a1", "employees.csv", "salary", "count", ("dept", "Support"))),
         step("extract", extract("x1", "p1.text", r"Active projects: (\d+)")),
         step("multiply", calc("c1", "{{x1.stdout}} * {{a1.value}}")), final("{{c1.value}}")])

    # ----- level 3: long multi-tool chains with wide fan-out
    for product in PRODUCTS:
        per = {r: units(region=r, product=product) for r in REGIONS}
        best = max(REGIONS, key=lambda r: (per[r], -REGIONS.index(r)))
        code = ("totals = {" + ", ".join(f"{r!r}: {{{{a{i + 1}.value}}}}" for i, r in enumerate(REGIONS)) + "}\n"
                "print(max(totals, key=lambda r: (totals[r], -list(totals).index(r))))")
        add(3, f"Which region sold the most {product} units? Publish a page with the ranking and answer with the region.", best,
            [step("all regions in parallel", *[agg(f"a{i + 1}", "sales.csv", "units", where=("region", r)) for i, r in enumerate(REGIONS)]),
             step("narrow to the product", *[{"id": f"b{i + 1}", "tool": "run_python", "args": {"code":
                  f"import csv\nprint(sum(int(r['units']) for r in csv.DictReader(open('sales.csv')) if r['region'] == {r!r} and r['product'] == {product!r}))"}}
                  for i, r in enumerate(REGIONS)]),
             step("rank", {"id": "r1", "tool": "run_python", "args": {"code": code.replace("{{a", "{{b").replace(".value}}", ".stdout}}")}}),
             step("publish", page("w1", f"{product} ranking", "Best region: {{r1.stdout}}")), final("{{r1.stdout}}")])
    for group in [entities[0:4], entities[3:7], entities[6:10], entities[1:6:2], [entities[0], entities[9], entities[5], entities[2]]]:
        total = sum(facts[e]["height"] for e in group)
        add(3, "What is the combined height in metres of the " + ", ".join(group) + "? Publish a summary page.", total,
            [step("search all", *[search(f"s{i + 1}", f"{e} stands metres tall") for i, e in enumerate(group)]),
             step("extract heights", *[extract(f"x{i + 1}", f"s{i + 1}.hits", r"stands (\d+) metres") for i in range(len(group))]),
             step("sum", calc("c1", " + ".join(f"{{{{x{i + 1}.stdout}}}}" for i in range(len(group))))),
             step("publish", page("w1", "Combined height", "Total: {{c1.value}} m")), final("{{c1.value}}")])
    for dept in ["Engineering", "Sales", "Research"]:
        total = sum(r[2] for r in emp)
        share = (Decimal(sum(salaries(dept))) * 100 / total).quantize(Decimal("0.1"))
        add(3, f"What share of the total payroll (percent, 1 decimal) goes to {dept}? Publish a payroll page.", plain(share) if share != share.to_integral() else str(int(share)),
            [step("payroll of every department", *[agg(f"a{i + 1}", "employees.csv", "salary", "sum", ("dept", d)) for i, d in enumerate(DEPTS)]),
             step("total", calc("t1", " + ".join(f"{{{{a{i + 1}.value}}}}" for i in range(4)))),
             step("share", calc("c1", f"round({{{{a{DEPTS.index(dept) + 1}.value}}}} * 100 / {{{{t1.value}}}}, 1)")),
             step("publish", page("w1", "Payroll", "{{c1.value}} percent")), final("{{c1.value}}")])
    for st in stations[:5]:
        region = st[2]
        revenue = sum(Decimal(r[4]) * r[3] for r in sales if r[0] == region and r[2] == "Widget")
        add(3, f"What was the total Widget revenue (units x unit price, all months) in the region of station {st[0]}? Publish it.", plain(revenue),
            [step("find the station's region", {"id": "l1", "tool": "csv_lookup", "args": {"path": "stations.csv", "key_column": "station", "key": st[0], "value_column": "region"}}),
             step("per-month revenue in parallel", *[{"id": f"m{i + 1}", "tool": "run_python", "args": {"code":
                  "import csv\nfrom decimal import Decimal\n"
                  f"rows = [r for r in csv.DictReader(open('sales.csv')) if r['region'] == {{{{l1.value|json}}}} and r['product'] == 'Widget' and r['month'] == {m!r}]\n"
                  "print(sum(Decimal(r['unit_price']) * int(r['units']) for r in rows))"}} for i, m in enumerate(MONTHS)]),
             step("sum", calc("c1", " + ".join(f"{{{{m{i + 1}.stdout}}}}" for i in range(len(MONTHS))))),
             step("publish", page("w1", f"Widget revenue {st[0]}", "{{c1.value}}")), final("{{c1.value}}")])
    return tasks


def main() -> None:
    data = build_data()
    tasks = build_tasks(data)
    with (HERE / "tasks.jsonl").open("w", encoding="utf-8") as handle:
        for task in tasks:
            handle.write(json.dumps(task, sort_keys=True) + "\n")
    counts = {lvl: sum(t["level"] == lvl for t in tasks) for lvl in (1, 2, 3)}
    print(f"wrote {len(tasks)} tasks {counts} and data files to {FILES}")


if __name__ == "__main__":
    main()
