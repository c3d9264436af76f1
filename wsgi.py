from authserver import create_app

app = create_app()
