"""The model worker: takes jobs from the model jobs queue, validates, converts and optimises
each uploaded 3D model, renders its poster, publishes the files to the models bucket, and
sends the outcome to the results queue, which the catalog reads. A process of its own, on
machines of its own in AWS, holding no database credentials: the code that parses untrusted
files can reach nothing but those files."""
