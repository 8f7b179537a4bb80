"""ECRIN/EUPATI assistant: everything that is ours and not Rasa configuration.

Data access, channels, the web chat page, the staff command line. The rasa-sdk actions in
`actions/` and the Rasa server's custom channels both import from here, so a rule lives in
exactly one place.
"""
