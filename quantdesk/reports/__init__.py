"""Reports with tables and plots, written as HTML and CSV: `document` renders, `daily` builds the
period reports."""
