import SiraPipeline
import SiraStages
import SiraStore
/// The report's stylesheet, inlined so the file stands alone. System fonts only (no network).
enum ReportStyle {
    static let css = """
    :root { color-scheme: light; }
    body { margin: 0; background: #f6f7f9; color: #1d2330; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
    main { max-width: 1240px; margin: 0 auto; padding: 20px 28px 40px; }
    header h1 { font-size: 24px; margin: 4px 0 10px; }
    .runid { color: #5b6475; font-weight: 400; }
    .badge { font-size: 13px; padding: 2px 9px; border-radius: 10px; vertical-align: middle; color: #fff; background: #7f7f7f; }
    .status-succeeded { background: #2ca02c; } .status-failed, .status-crashed { background: #d62728; }
    .status-cancelled { background: #ff7f0e; } .status-running, .status-queued { background: #bcbd22; }
    dl.facts { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0 0 10px; }
    dl.facts div { display: flex; gap: 6px; } dt { color: #5b6475; } dd { margin: 0; font-weight: 600; word-break: break-all; }
    nav a { color: #1f5fb4; text-decoration: none; } nav { margin-bottom: 6px; }
    section { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 14px 20px 18px; margin: 16px 0; }
    h2 { font-size: 18px; margin: 0 0 10px; }
    .note, .muted { color: #5b6475; } .note { font-size: 13px; }
    .error { color: #b0181b; font-weight: 600; }
    ul.verdicts { padding-left: 20px; margin: 0 0 8px; } ul.verdicts li { margin: 4px 0; }
    li.sira-wins::marker { color: #2ca02c; } li.sira-loses::marker { color: #d62728; }
    .tables { display: flex; flex-wrap: wrap; gap: 18px; }
    table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
    caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
    th, td { border-bottom: 1px solid #e6e9ef; padding: 4px 10px; text-align: right; white-space: nowrap; }
    th:first-child, td:first-child { text-align: left; }
    table.changes td:nth-child(2), table.changes th:nth-child(2) { text-align: left; }
    thead th { background: #f0f2f6; font-weight: 600; }
    td.win { font-weight: 700; background: #e8f5e9; }
    td.base { color: #5b6475; } td.empty { color: #b0b6c3; }
    td.better { color: #1b7f1b; font-weight: 600; } td.worse { color: #b0181b; font-weight: 600; }
    .deciding { color: #1f5fb4; font-size: 11px; }
    .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: baseline; }
    .kind { color: #5b6475; font-weight: 400; font-size: 12px; }
    .charts { display: flex; flex-wrap: wrap; gap: 14px 26px; }
    figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 2px; }
    svg text { font-family: system-ui, "DejaVu Sans", sans-serif; fill: #1d2330; }
    svg .tick { font-size: 11px; fill: #4a5263; } svg .axis { font-size: 12px; fill: #4a5263; }
    svg .legend { font-size: 12px; } svg .muted { font-size: 12px; fill: #5b6475; }
    svg .cell { font-size: 11px; } svg .cell.on-dark { fill: #ffffff; } svg .cell.on-light { fill: #1d2330; }
    svg .grid { stroke: #eceff4; stroke-width: 1; } svg .frame { fill: none; stroke: #c5cbd6; }
    svg .bartrack { fill: #f0f2f6; }
    .legend-row { font-size: 13px; }
    footer { color: #5b6475; font-size: 12px; margin-top: 18px; }
    @media print { body { background: #fff; } section { break-inside: avoid; } }

    """
}
