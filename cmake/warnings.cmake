# Warnings on for every target of the project; -Werror in CI keeps them clean.
option(RINGKV_WERROR "Treat warnings as errors" OFF)
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(RINGKV_WERROR)
  add_compile_options(-Werror)
endif()
