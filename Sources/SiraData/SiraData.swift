// SiraData: see DESIGN.md §4.
