// SiraKernels: see DESIGN.md §4.
