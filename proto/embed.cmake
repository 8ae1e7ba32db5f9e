# SPDX-License-Identifier: MIT
# embed.cmake - a binary file as a C array (cmake -P, no xxd needed):
#   cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake
# defines `const unsigned char NAME[]` and `const unsigned long NAME_len`.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
       "\\1\n\t" bytes "${bytes}")
file(WRITE "${OUT}"
"/* Generated from ${IN} by embed.cmake: do not edit. */\n"
"const unsigned char ${NAME}[] = {\n\t${bytes}\n};\n"
"const unsigned long ${NAME}_len = ${len};\n")
