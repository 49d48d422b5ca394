"""Facts about the sample deployment that several test packages check."""

#: The source of each variable of sample_score/deployment.yml when every one is fetched.
ALL_FETCHED = {
    "AOAI_ENDPOINT": "connection",
    "AOAI_API_KEY": "connection",
    "AOAI_API_VERSION": "connection",
    "AOAI_DEPLOYMENT": "connection",
    "OTHER_API_KEY": "connection",
    "DB_PASSWORD": "keyvault",
}
