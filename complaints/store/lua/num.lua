-- Shared block: `num(x)`, a number written out as a whole number.
-- Must hold: Lua writes numbers with 14 significant digits ('%.14g', exponent form past
-- them); '%.0f' writes every digit, as integer arguments (PEXPIRE's) and exact scores
-- and range bounds need.
local function num(x) return string.format('%.0f', x) end
