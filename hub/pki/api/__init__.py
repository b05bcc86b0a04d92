"""Store certificates over HTTP: the JSON routes (``registry``), the enrolment page and its hooks on the hub
app (``enrol``) and the plain-HTTP listener that only redirects and enrols (``plain``)."""
