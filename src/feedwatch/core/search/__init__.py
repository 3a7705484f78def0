"""Search and monitors, the pure part: the query language, the text normaliser, cadences.

Never imports sqlalchemy, httpx or click: the store compiles nothing itself, it runs what
`query.to_fts5` and `query.to_tsquery` produce over the documents `text.index_doc` describes.
"""
