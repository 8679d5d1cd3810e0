.PHONY: demo test bootstrap collector bench

demo:        ## the example clinic app with telemetry on the embedded default, driven by traffic
	bash scripts/demo.sh

test:        ## install what is needed and run the whole test suite
	bash scripts/test.sh

bootstrap:
	bash scripts/bootstrap.sh all

collector:
	bash collector/build.sh

bench:
	.venv/bin/python benchmarks/overhead.py
