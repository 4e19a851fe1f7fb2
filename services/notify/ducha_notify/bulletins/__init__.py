"""Bulletins (通报): `domain` computes a bulletin's content from the statistics and holds the
bulletin aggregate's rules (pure); `tables` + `projection` + `queries` drafts, published
bulletins and the problems they made public; `render` HTML and .docx; `api` the office's routes
and the public pages."""
