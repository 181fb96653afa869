// SiraStore: see DESIGN.md §4.
