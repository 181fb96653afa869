// SiraModel: see DESIGN.md §4.
