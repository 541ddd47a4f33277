[inputs: ["mix.exs"], subdirectories: ["apps/*"]]
