from bpflow.cli import main

main()
